/**
 * Every migration, in order. Listed statically (not read from a folder) so that the same list
 * works under tsx, vitest, a compiled build and a bundle. Names sort in the order they apply;
 * a released migration is never edited, only followed by a new one.
 */
import type { Migration } from 'kysely';
import { instance } from './0001_instance.ts';
import { registry } from './0002_registry.ts';
import { pipelineRuns } from './0003_pipeline_runs.ts';
import { driftReports } from './0004_drift_reports.ts';
import { compliance } from './0005_compliance.ts';
import { deployments } from './0006_deployments.ts';

export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_instance': instance,
  '0002_registry': registry,
  '0003_pipeline_runs': pipelineRuns,
  '0004_drift_reports': driftReports,
  '0005_compliance': compliance,
  '0006_deployments': deployments,
};
