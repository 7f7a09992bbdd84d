-- CreateTable
CREATE TABLE "Client" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Client_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ClientKpi" (
    "id" TEXT NOT NULL,
    "clientId" TEXT NOT NULL,
    "revenue" DECIMAL(12,2),

    CONSTRAINT "ClientKpi_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DeprecatedLog" (
    "id" SERIAL NOT NULL,
    "message" TEXT,

    CONSTRAINT "DeprecatedLog_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ClientKpi_clientId_idx" ON "ClientKpi"("clientId");

-- AddForeignKey
ALTER TABLE "ClientKpi" ADD CONSTRAINT "ClientKpi_clientId_fkey" FOREIGN KEY ("clientId") REFERENCES "Client"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
