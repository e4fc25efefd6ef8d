/**
 * Turns the upload's declared schema (`idColumn`, `columns=name:type[?],...`, `defaultType`) and the CSV header into
 * the dataset's column list, listing every problem at once.
 */
import { AccordError } from '../../primitives/errors/index.js';
import { COLUMN_TYPES, type ColumnDef, type ColumnType } from '../store/types.js';

export interface DeclaredSchema {
  readonly idColumn: string;
  readonly idKind: string;
  /** `name:type` pairs; a trailing `?` on the type allows empty cells. */
  readonly columns: string | undefined;
  /** Type for header columns not named in `columns`; without it every column must be declared. */
  readonly defaultType: ColumnType | undefined;
}

function isColumnType(s: string): s is ColumnType {
  return (COLUMN_TYPES as readonly string[]).includes(s);
}

export function parseColumnDeclarations(
  spec: string | undefined,
): Map<string, { type: ColumnType; nullable: boolean }> {
  const declared = new Map<string, { type: ColumnType; nullable: boolean }>();
  const problems: string[] = [];
  for (const part of (spec ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name = '', typeSpec = ''] = part.split(':').map((s) => s.trim());
    const nullable = typeSpec.endsWith('?');
    const type = nullable ? typeSpec.slice(0, -1) : typeSpec;
    if (!name) problems.push(`"${part}": missing column name`);
    else if (!isColumnType(type))
      problems.push(`${name}: unknown type "${type}" (use ${COLUMN_TYPES.join(', ')})`);
    else if (declared.has(name)) problems.push(`${name}: declared twice`);
    else declared.set(name, { type, nullable });
  }
  if (problems.length)
    throw new AccordError('ACCORD_DATASET_SCHEMA_INVALID', { problems: problems.join('; ') });
  return declared;
}

export function resolveColumns(header: readonly string[], schema: DeclaredSchema): ColumnDef[] {
  const declared = parseColumnDeclarations(schema.columns);
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const name of header) {
    if (name === '') problems.push('a column has an empty name');
    else if (seen.has(name)) problems.push(`column ${name} appears twice`);
    seen.add(name);
  }
  if (!seen.has(schema.idColumn)) problems.push(`the id column ${schema.idColumn} is not in the header`);
  for (const name of declared.keys())
    if (!seen.has(name)) problems.push(`declared column ${name} is not in the header`);
  const columns = header.map((name): ColumnDef => {
    if (name === schema.idColumn) {
      const idType = declared.get(name);
      if (idType && (idType.nullable || (idType.type !== 'string' && idType.type !== 'integer'))) {
        problems.push(`the id column ${name} must be a required string or integer`);
      }
      return { name, type: 'string', nullable: false };
    }
    const decl = declared.get(name);
    if (decl) return { name, ...decl };
    if (schema.defaultType) return { name, type: schema.defaultType, nullable: false };
    problems.push(`column ${name} has no declared type (declare it in columns= or set defaultType=)`);
    return { name, type: 'string', nullable: true };
  });
  if (problems.length)
    throw new AccordError('ACCORD_DATASET_HEADER_INVALID', { problems: problems.join('; ') });
  return columns;
}
