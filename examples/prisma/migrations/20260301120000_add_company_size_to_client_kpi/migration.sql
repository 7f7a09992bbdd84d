-- AlterTable
ALTER TABLE "ClientKpi" ADD COLUMN     "companySize" INTEGER NOT NULL;

-- CreateIndex
CREATE INDEX "ClientKpi_companySize_idx" ON "ClientKpi"("companySize");
