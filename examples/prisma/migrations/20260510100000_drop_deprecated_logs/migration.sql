-- backup: s3://acme-db-backups/2026-05-10/DeprecatedLog.dump (pg_dump --table='"DeprecatedLog"')
-- DropTable
DROP TABLE "DeprecatedLog";
