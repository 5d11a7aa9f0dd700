"""Derives operations.json (what the fake checks every request against, through
test/fakes/described/operations.ts) from Mixpanel's OpenAPI descriptions (github:mixpanel/docs
openapi/*.openapi.yaml, see /work/shared/vendor-specs/mixpanel/SOURCES.tsv): per operation its method,
its full path (the server's base path joined, the `#fragment` that tells /engage's update kinds apart
dropped), its query parameters with their type, bounds, enum and whether required, its request media
types and body schema. Operations sharing a method and path (the /engage and /groups update kinds) are
merged: a parameter is required only where every kind requires it, a body fits any kind's items.
Run: python3 test/fakes/mixpanel/extract-operations.py /work/shared/vendor-specs/mixpanel"""
import json, os, sys
from urllib.parse import urlparse

import yaml

spec_dir = sys.argv[1]
KEEP = ('type', 'enum', 'minimum', 'maximum', 'minItems', 'pattern')


def converter(spec):
    def deref(node):
        while isinstance(node, dict) and '$ref' in node:
            target = spec
            for part in node['$ref'].split('/')[1:]:
                target = target[part]
            node = target
        return node

    def schema(node, depth=0):
        node = deref(node)
        out = {k: node[k] for k in KEEP if k in node}
        if depth > 8:
            return out
        if 'properties' in node:
            out['properties'] = {name: schema(value, depth + 1) for name, value in node['properties'].items()}
        if node.get('required'):
            out['required'] = list(node['required'])
        if 'items' in node:
            out['items'] = schema(node['items'], depth + 1)
        return out

    return deref, schema


merged = {}
for name in ['export.openapi.yaml', 'ingestion.openapi.yaml', 'gdpr.openapi.yaml', 'query.openapi.yaml']:
    spec = yaml.safe_load(open(os.path.join(spec_dir, name)))
    deref, schema = converter(spec)
    base = urlparse(spec['servers'][0]['url'].replace('{', '').replace('}', '')).path.rstrip('/')
    for path, operations in spec['paths'].items():
        for method, op in operations.items():
            if method not in ('get', 'post', 'put', 'patch', 'delete'):
                continue
            query, path_params = {}, {}
            for p in op.get('parameters', []) + operations.get('parameters', []):
                p = deref(p)
                rule = {k: v for k, v in schema(p.get('schema', {})).items() if k in KEEP}
                if p['in'] == 'query':
                    query[p['name']] = dict(rule, mandatory=bool(p.get('required')))
                elif p['in'] == 'path':
                    path_params[p['name']] = rule
            content = op.get('requestBody', {}).get('content', {})
            body = None
            for media, value in content.items():
                if media.endswith('json') and 'schema' in value:
                    body = schema(value['schema'])
            key = (method.upper(), base + path.split('#')[0])
            if key in merged:
                known = merged[key]
                for pname, rule in query.items():
                    if pname in known['query']:
                        known['query'][pname]['mandatory'] = known['query'][pname]['mandatory'] and rule['mandatory']
                    else:
                        known['query'][pname] = dict(rule, mandatory=False)
                for pname in known['query']:
                    if pname not in query:
                        known['query'][pname]['mandatory'] = False
                known['contentTypes'] = sorted(set(known['contentTypes']) | set(content))
                # The kinds differ in the update operator each item carries: keep what they share.
                # (profile-batch-update describes its body as a bare string: it adds no rule).
                if body and body.get('type') == 'array':
                    if not known.get('body'):
                        known['body'] = body
                    else:
                        items, other = known['body'].get('items', {}), body['items']
                        shared = [r for r in items.get('required', []) if r in other.get('required', [])]
                        props = {r: items['properties'][r] for r in shared if r in items.get('properties', {})}
                        known['body'] = {
                            'type': 'array',
                            'minItems': 1,
                            'items': {'type': 'object', 'required': shared, 'properties': props},
                        }
                continue
            entry = {'method': key[0], 'path': key[1], 'query': query, 'contentTypes': sorted(content)}
            if path_params:
                entry['pathParams'] = path_params
            if body and body.get('type') != 'string':
                entry['body'] = body
            merged[key] = entry

json.dump(
    {
        'source': 'github:mixpanel/docs@ba229069b07d3fe952930a12e38d4328a22c7f29 openapi/{export,ingestion,gdpr,query}.openapi.yaml',
        'operations': [merged[k] for k in sorted(merged)],
    },
    open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'operations.json'), 'w'),
    indent=1,
    sort_keys=True,
)
