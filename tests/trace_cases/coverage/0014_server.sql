-- statements that act on the server beyond the migration's database
CREATE DATABASE trace_tmp_db;
ALTER DATABASE trace_tmp_db SET work_mem = '8MB';
DROP DATABASE IF EXISTS trace_tmp_db;
