-- AlterTable
ALTER TABLE "Client" ADD COLUMN     "currency" TEXT;

UPDATE "Client" SET "currency" = 'EUR';

-- AlterTable
ALTER TABLE "Client" ALTER COLUMN "currency" SET NOT NULL;
