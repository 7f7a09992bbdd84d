-- views, materialized views, enums, sequences
CREATE TABLE j_t (id int PRIMARY KEY, a int, b text, d int);
INSERT INTO j_t SELECT g, g, 'row ' || g, g % 7 FROM generate_series(1, 300) g;
CREATE VIEW j_v AS SELECT id, a FROM j_t;
CREATE VIEW j_v2 AS SELECT id, a FROM j_t WHERE a > 0;
CREATE OR REPLACE VIEW j_v3 AS SELECT id, a FROM j_t;
-- covers: AT_AddColumnToView
CREATE OR REPLACE VIEW j_v AS SELECT id, a, b FROM j_t;
-- covers: AT_ReplaceRelOptions
CREATE OR REPLACE VIEW j_v WITH (security_barrier) AS SELECT id, a, b FROM j_t;
ALTER VIEW j_v SET (security_barrier = true);
ALTER VIEW j_v ALTER COLUMN a SET DEFAULT 0;
CREATE MATERIALIZED VIEW j_mv AS SELECT g AS id, g * 2 AS v FROM generate_series(1, 300) g;
CREATE UNIQUE INDEX j_mv_id_idx ON j_mv (id);
REFRESH MATERIALIZED VIEW j_mv;
REFRESH MATERIALIZED VIEW CONCURRENTLY j_mv;
ALTER MATERIALIZED VIEW j_mv ALTER COLUMN v SET STATISTICS 100;
CREATE MATERIALIZED VIEW j_mv_t AS SELECT d, count(*) AS n FROM j_t GROUP BY d;
REFRESH MATERIALIZED VIEW j_mv_t;
CREATE TYPE j_mood AS ENUM ('sad', 'ok');
CREATE TABLE j_feel (id int, m j_mood);
INSERT INTO j_feel VALUES (1, 'ok');
ALTER TYPE j_mood ADD VALUE 'happy';
ALTER TYPE j_mood ADD VALUE IF NOT EXISTS 'meh' BEFORE 'ok';
CREATE SEQUENCE j_s;
CREATE SEQUENCE j_s2 START 10;
CREATE SEQUENCE j_s3 OWNED BY j_t.a;
ALTER SEQUENCE j_s RESTART WITH 100;
ALTER SEQUENCE j_s INCREMENT BY 5;
ALTER SEQUENCE j_s OWNED BY j_t.d;
