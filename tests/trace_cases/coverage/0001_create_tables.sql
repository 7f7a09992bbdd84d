-- CREATE TABLE in its forms, CREATE TABLE AS, SELECT INTO, materialized views
CREATE TABLE a_t (id int PRIMARY KEY, a int, b text, c varchar(10), d int);
INSERT INTO a_t SELECT g, g, 'row ' || g, 'v' || (g % 100), g % 7 FROM generate_series(1, 300) g;
CREATE TABLE a_parent (id int PRIMARY KEY, name text);
INSERT INTO a_parent SELECT g, 'p' || g FROM generate_series(1, 300) g;
CREATE TABLE a_base (id int, v int);
INSERT INTO a_base SELECT g, g FROM generate_series(1, 300) g;
CREATE TABLE "A_Parent" (id int PRIMARY KEY);
INSERT INTO "A_Parent" SELECT generate_series(1, 300);
CREATE TABLE a_new (id int PRIMARY KEY, v text);
CREATE TABLE a_ref (id int PRIMARY KEY, parent_id int REFERENCES a_parent (id));
CREATE TABLE a_fk (id int, pid int, CONSTRAINT a_fk_pid_fkey FOREIGN KEY (pid) REFERENCES a_parent (id));
CREATE TABLE a_inh (extra int) INHERITS (a_base);
ALTER TABLE a_t ALTER COLUMN d SET DEFAULT 0;
-- covers: AT_CookedColumnDefault (LIKE … INCLUDING DEFAULTS copies the cooked default)
CREATE TABLE a_like (LIKE a_t INCLUDING ALL);
CREATE TABLE "A_Mixed" (id int REFERENCES "A_Parent" (id));
CREATE TABLE public.a_qualified (id int REFERENCES public.a_parent (id));
CREATE TABLE a_ctas AS SELECT * FROM a_t WHERE a > 10;
SELECT * INTO a_into FROM a_t;
CREATE MATERIALIZED VIEW a_mv AS SELECT d, count(*) FROM a_t GROUP BY d;
CREATE MATERIALIZED VIEW a_mv_empty AS SELECT d, count(*) FROM a_t GROUP BY d WITH NO DATA;
