import { z } from 'zod';
import { importCsv } from '../../../platform/csv/import-csv.js';
import { COLUMN_TYPES, type DatasetStore } from '../../../platform/store/types.js';
import { ROLES } from '../../../primitives/consortium/roles.js';
import { AccordError } from '../../../primitives/errors/index.js';
import { route } from '../route.js';

const datasetName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lowercase letters, digits, _ and -; at most 64 characters');

const columnSchema = z.object({ name: z.string(), type: z.enum(COLUMN_TYPES), nullable: z.boolean() });
const datasetSchema = z.object({
  name: z.string(),
  idColumn: z.string(),
  idKind: z.string(),
  columns: z.array(columnSchema),
  rowCount: z.number().int(),
  importedAt: z.string(),
  version: z
    .number()
    .int()
    .describe(
      'this import of the dataset: a re-import gets another, and alignments of older ones are refused',
    ),
});

const importQuery = z.object({
  idColumn: z.string().min(1).describe('column holding the record identifier (unique per row)'),
  idKind: z
    .string()
    .regex(/^[a-z_]+$/)
    .default('customer_id')
    .describe('kind of identifier: customer_id, phone, national_id, email, account, text'),
  columns: z
    .string()
    .optional()
    .describe('column types, e.g. "y:integer,x0:number,opened:date?" (? = may be empty)'),
  defaultType: z.enum(COLUMN_TYPES).optional().describe('type of every header column not listed in columns'),
  replace: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true')
    .describe('replace an existing dataset of this name atomically'),
});

export function datasetRoutes(deps: {
  datasets: DatasetStore;
  /** Whether a running job reads the dataset (a PSI maps positions to its rows): it may not be replaced then. */
  inUse: (dataset: string) => Promise<boolean>;
  /**
   * The same question asked synchronously inside the transaction that replaces the dataset (campaign runs and
   * scoring jobs), so that a job started during the upload still stops the replace.
   */
  inUseNow?: (dataset: string) => boolean;
}) {
  return [
    route({
      method: 'POST',
      url: '/v1/datasets/:name',
      summary: 'Import a dataset from a streamed CSV upload (all or nothing)',
      tags: ['datasets'],
      roles: ['admin'],
      params: z.object({ name: datasetName }),
      query: importQuery,
      bodyKind: 'csv',
      status: 201,
      response: datasetSchema,
      auditTarget: ({ params }) => `dataset:${params.name}`,
      handler: async ({ params, query, stream }) => {
        if (query.replace && (await deps.inUse(params.name)))
          throw new AccordError('ACCORD_DATASET_IN_USE', { dataset: params.name });
        return importCsv(deps.datasets, stream!, {
          name: params.name,
          replace: query.replace,
          inUse: deps.inUseNow,
          schema: {
            idColumn: query.idColumn,
            idKind: query.idKind,
            columns: query.columns,
            defaultType: query.defaultType,
          },
        });
      },
    }),
    route({
      method: 'GET',
      url: '/v1/datasets',
      summary: 'List datasets with their schemas and row counts',
      tags: ['datasets'],
      roles: ROLES,
      response: z.object({ datasets: z.array(datasetSchema) }),
      handler: async () => ({ datasets: await deps.datasets.list() }),
    }),
    route({
      method: 'GET',
      url: '/v1/datasets/:name',
      summary: "A dataset's schema and row count",
      tags: ['datasets'],
      roles: ROLES,
      params: z.object({ name: datasetName }),
      response: datasetSchema,
      auditTarget: ({ params }) => `dataset:${params.name}`,
      handler: async ({ params }) => {
        const info = await deps.datasets.get(params.name);
        if (!info) throw new AccordError('ACCORD_DATASET_NOT_FOUND', { dataset: params.name });
        return info;
      },
    }),
  ];
}
