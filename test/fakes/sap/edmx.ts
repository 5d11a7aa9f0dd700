/**
 * The S/4HANA API_BUSINESS_PARTNER metadata (EDMX, OData V2, copied from SAP's Apache-2.0 sample
 * cap-js/incidents-app, see SOURCES.tsv) read into entity sets, properties and navigation targets, so the
 * SAP fake can refuse what the real service refuses and record what breaks the description.
 */
import * as fs from 'fs';
import * as path from 'path';

export interface EdmProperty {
  readonly type: string;
  readonly creatable: boolean;
  readonly updatable: boolean;
  readonly maxLength?: number;
}

export interface EdmEntityType {
  readonly name: string;
  readonly keys: readonly string[];
  readonly properties: ReadonlyMap<string, EdmProperty>;
  /** Navigation property -> target entity type name and whether it is a collection. */
  readonly navigation: ReadonlyMap<string, { readonly target: string; readonly many: boolean }>;
}

export interface EdmEntitySet {
  readonly type: string;
  readonly creatable: boolean;
  readonly updatable: boolean;
  readonly deletable: boolean;
}

export interface EdmModel {
  readonly types: ReadonlyMap<string, EdmEntityType>;
  readonly sets: ReadonlyMap<string, EdmEntitySet>;
}

const attr = (tag: string, name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1];
const local = (qualified: string) => qualified.slice(qualified.lastIndexOf('.') + 1);

export function parseEdmx(xml: string): EdmModel {
  const ends = new Map<string, { type: string; many: boolean }>();
  for (const association of xml.matchAll(/<Association Name="([^"]+)"[^>]*>([\s\S]*?)<\/Association>/g)) {
    for (const end of association[2].matchAll(/<End [^>]*\/>/g)) {
      ends.set(`${association[1]}/${attr(end[0], 'Role')}`, {
        type: local(attr(end[0], 'Type')!),
        many: attr(end[0], 'Multiplicity') === '*',
      });
    }
  }
  const types = new Map<string, EdmEntityType>();
  for (const match of xml.matchAll(/<EntityType Name="([^"]+)"[^>]*>([\s\S]*?)<\/EntityType>/g)) {
    const body = match[2];
    const keys = [...(/<Key>([\s\S]*?)<\/Key>/.exec(body)?.[1] ?? '').matchAll(/Name="([^"]+)"/g)].map((k) => k[1]);
    const properties = new Map<string, EdmProperty>();
    for (const p of body.matchAll(/<Property [^>]*\/>/g)) {
      const tag = p[0];
      const maxLength = attr(tag, 'MaxLength');
      properties.set(attr(tag, 'Name')!, {
        type: attr(tag, 'Type')!,
        creatable: attr(tag, 'sap:creatable') !== 'false',
        updatable: attr(tag, 'sap:updatable') !== 'false',
        ...(maxLength ? { maxLength: Number(maxLength) } : {}),
      });
    }
    const navigation = new Map<string, { target: string; many: boolean }>();
    for (const n of body.matchAll(/<NavigationProperty [^>]*\/>/g)) {
      const relationship = local(attr(n[0], 'Relationship')!);
      const end = ends.get(`${relationship}/${attr(n[0], 'ToRole')}`);
      if (end) navigation.set(attr(n[0], 'Name')!, { target: end.type, many: end.many });
    }
    types.set(match[1], { name: match[1], keys, properties, navigation });
  }
  const sets = new Map<string, EdmEntitySet>();
  for (const s of xml.matchAll(/<EntitySet [^>]*\/>/g)) {
    sets.set(attr(s[0], 'Name')!, {
      type: local(attr(s[0], 'EntityType')!),
      creatable: attr(s[0], 'sap:creatable') !== 'false',
      updatable: attr(s[0], 'sap:updatable') !== 'false',
      deletable: attr(s[0], 'sap:deletable') !== 'false',
    });
  }
  return { types, sets };
}

let cached: EdmModel | undefined;

/** The API_BUSINESS_PARTNER model, parsed once per process. */
export function businessPartnerModel(): EdmModel {
  cached ??= parseEdmx(fs.readFileSync(path.join(__dirname, 'API_BUSINESS_PARTNER.edmx'), 'utf8'));
  return cached;
}

/** The violations of one write body against `typeName`: unknown, read-only or too long fields, deep inserts included. */
export function checkWriteBody(
  model: EdmModel,
  typeName: string,
  body: unknown,
  mode: 'create' | 'update',
  where: string,
): string[] {
  const type = model.types.get(typeName);
  if (!type) return [`${where}: unknown entity type ${typeName}`];
  if (!body || typeof body !== 'object' || Array.isArray(body)) return [`${where}: the body must be one JSON object`];
  const problems: string[] = [];
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (key === '__metadata') continue;
    const property = type.properties.get(key);
    const nav = type.navigation.get(key);
    if (property) {
      if (mode === 'create' ? !property.creatable : !property.updatable)
        problems.push(`${where}: ${typeName}.${key} is not ${mode === 'create' ? 'creatable' : 'updatable'}`);
      if (typeof value === 'string' && property.maxLength !== undefined && value.length > property.maxLength) {
        problems.push(`${where}: ${typeName}.${key} is longer than ${property.maxLength}`);
      }
    } else if (nav && mode === 'create') {
      // A deep insert: `{ results: [...] }` for a collection, an object for a single target.
      const items = nav.many ? (value as { results?: unknown })?.results : [value];
      if (!Array.isArray(items)) problems.push(`${where}: deep insert ${typeName}.${key} needs { results: [...] }`);
      else
        items.forEach((item, i) =>
          problems.push(...checkWriteBody(model, nav.target, item, 'create', `${where}.${key}[${i}]`)),
        );
    } else problems.push(`${where}: ${typeName} has no ${nav ? 'writable ' : ''}property ${key}`);
  }
  return problems;
}
