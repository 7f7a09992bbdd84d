-- ALTER TABLE: constraints
CREATE TABLE f_t (id int PRIMARY KEY, a int, b text);
INSERT INTO f_t SELECT g, g, 'row ' || g FROM generate_series(1, 300) g;
CREATE TABLE f_parent (id int PRIMARY KEY, name text);
INSERT INTO f_parent SELECT g, 'p' || g FROM generate_series(1, 300) g;
CREATE TABLE f_child (id int PRIMARY KEY, parent_id int, note text);
INSERT INTO f_child SELECT g, g, 'c' || g FROM generate_series(1, 300) g;
CREATE TABLE f_child2 (id int PRIMARY KEY, parent_id int);
INSERT INTO f_child2 SELECT g, g FROM generate_series(1, 300) g;
CREATE TABLE f_nopk (id int, a int);
INSERT INTO f_nopk SELECT g, g FROM generate_series(1, 300) g;
CREATE TABLE f_nn (id int NOT NULL, a int);
INSERT INTO f_nn SELECT g, g FROM generate_series(1, 300) g;
CREATE UNIQUE INDEX f_nn_id_uidx ON f_nn (id);
CREATE TABLE f_range (id int, r int4range);
INSERT INTO f_range SELECT g, int4range(g * 10, g * 10 + 5) FROM generate_series(1, 300) g;
CREATE TABLE f_excl (id int, r int4range, CONSTRAINT f_excl_r_excl EXCLUDE USING gist (r WITH &&));
ALTER TABLE f_t ADD CONSTRAINT f_t_a_pos CHECK (a > 0);
ALTER TABLE f_t ADD CONSTRAINT f_t_a_pos2 CHECK (a > 0) NOT VALID;
ALTER TABLE f_child ADD CONSTRAINT f_child_parent_fk FOREIGN KEY (parent_id) REFERENCES f_parent (id);
ALTER TABLE f_child2 ADD CONSTRAINT f_child2_parent_fk FOREIGN KEY (parent_id) REFERENCES f_parent (id) NOT VALID;
ALTER TABLE f_child2 VALIDATE CONSTRAINT f_child2_parent_fk;
ALTER TABLE f_t VALIDATE CONSTRAINT f_t_a_pos2;
-- covers: AT_AddIndex (ADD UNIQUE is executed as an index added to the table)
ALTER TABLE f_t ADD CONSTRAINT f_t_b_key UNIQUE (b);
ALTER TABLE f_nopk ADD PRIMARY KEY (id);
CREATE UNIQUE INDEX f_t_a_uidx ON f_t (a);
-- covers: AT_AddIndexConstraint
ALTER TABLE f_t ADD CONSTRAINT f_t_a_key UNIQUE USING INDEX f_t_a_uidx;
CREATE UNIQUE INDEX f_t_ab_uidx ON f_t (a, b);
ALTER TABLE f_t ADD UNIQUE USING INDEX f_t_ab_uidx;
ALTER TABLE f_nn ADD CONSTRAINT f_nn_pk PRIMARY KEY USING INDEX f_nn_id_uidx;
ALTER TABLE f_range ADD CONSTRAINT f_range_r_excl EXCLUDE USING gist (r WITH &&);
ALTER TABLE f_t DROP CONSTRAINT f_t_a_pos;
ALTER TABLE f_child2 DROP CONSTRAINT f_child2_parent_fk;
ALTER TABLE f_nopk DROP CONSTRAINT f_nopk_pkey;
ALTER TABLE f_excl DROP CONSTRAINT f_excl_r_excl;
ALTER TABLE f_t DROP CONSTRAINT f_t_b_key;
ALTER TABLE f_child ALTER CONSTRAINT f_child_parent_fk DEFERRABLE INITIALLY DEFERRED;
