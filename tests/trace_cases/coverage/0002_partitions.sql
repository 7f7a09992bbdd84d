-- partitions: create, attach, detach (also CONCURRENTLY), index partitions
CREATE TABLE b_meas (id int NOT NULL, at date NOT NULL, v int) PARTITION BY RANGE (at);
CREATE TABLE b_meas_2023 PARTITION OF b_meas FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE b_meas_2024 PARTITION OF b_meas FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO b_meas_2023 SELECT g, date '2023-01-01' + g, g FROM generate_series(1, 300) g;
INSERT INTO b_meas_2024 SELECT g, date '2024-01-01' + g, g FROM generate_series(1, 300) g;
CREATE TABLE b_meas_2025 PARTITION OF b_meas FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE b_loose (id int NOT NULL, at date NOT NULL, v int);
INSERT INTO b_loose SELECT g, date '2026-01-01' + (g % 300), g FROM generate_series(1, 300) g;
ALTER TABLE b_meas ATTACH PARTITION b_loose FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE INDEX b_meas_v_idx ON ONLY b_meas (v);
CREATE INDEX b_meas_2023_v_idx ON b_meas_2023 (v);
ALTER INDEX b_meas_v_idx ATTACH PARTITION b_meas_2023_v_idx;
ALTER TABLE b_meas DETACH PARTITION b_meas_2024;
ALTER TABLE b_meas DETACH PARTITION b_meas_2023 CONCURRENTLY;
