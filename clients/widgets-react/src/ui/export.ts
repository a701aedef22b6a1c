// The audit log as a download: at once when the service writes it in the
// request, else (202) a job followed until its file can be fetched.

import type { OpsClient } from "@molam/ops-sdk";
import { errorFromResult } from "../model/read.js";

export type ExportFormat = "csv" | "json";

interface Job {
  id: string;
  status: string;
  progress?: number;
  total?: number | null;
  error?: string | null;
}

/** Downloads the log; resolves with its size in bytes. */
export async function exportAuditLog(
  client: OpsClient,
  format: ExportFormat,
  progress: (text: string) => void,
): Promise<number> {
  const first = await client.api.GET("/api/ops/actions/export", {
    params: { query: { format } },
    parseAs: "blob",
  });
  if (first.response.status === 202) {
    let job = (JSON.parse(await (first.data as Blob).text()) as { job: Job }).job;
    for (let attempt = 0; job.status !== "done"; attempt++) {
      if (job.status === "failed") throw new Error(`The export failed: ${job.error ?? ""}`);
      progress(`Preparing the export: ${job.progress ?? 0} of about ${job.total ?? 0} rows.`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * (attempt + 1), 5000)));
      const jobId: string = job.id;
      const read = await client.api.GET("/api/ops/audit/jobs/{job_id}", { params: { path: { job_id: jobId } } });
      if (!read.data) throw errorFromResult(read);
      const next: { job: Job } = read.data as unknown as { job: Job };
      job = next.job;
    }
    const file = await client.api.GET("/api/ops/audit/jobs/{job_id}/download", {
      params: { path: { job_id: job.id } },
      parseAs: "blob",
    });
    if (!file.data) throw errorFromResult(file);
    return save(file.data as Blob, format);
  }
  if (!first.data) throw errorFromResult(first);
  return save(first.data as Blob, format);
}

function save(blob: Blob, format: ExportFormat): number {
  const url = URL.createObjectURL?.(blob);
  if (url) {
    const link = document.createElement("a");
    link.href = url;
    link.download = `ops-actions-log.${format}`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
  return blob.size;
}
