"""Derives operations.json (what the fake checks every Data API request against, through
test/fakes/described/operations.ts) from the Analytics Data API v1beta discovery document (see
/work/shared/vendor-specs/ga4/SOURCES.tsv): per method its HTTP method, its path (the flat path, the
`{+property}` resource name as its segments), its query parameters and the system parameters every method
takes, and the request body schemas. Discovery schemas are protobuf messages, so an object's members are
closed (an unknown member is not part of the API) unless it is a map (`additionalProperties`).
Run: python3 test/fakes/ga4/extract-operations.py /work/shared/vendor-specs/ga4"""
import json, os, sys

doc = json.load(open(os.path.join(sys.argv[1], 'analyticsdata-v1beta.discovery.json')))
KEEP = ('type', 'enum', 'minimum', 'maximum', 'pattern')


def schema(node):
    if '$ref' in node:
        return {'$ref': node['$ref']}
    out = {k: node[k] for k in KEEP if k in node and not (k == 'type' and node[k] == 'any')}
    if node.get('type') == 'object':
        if 'properties' in node:
            out['properties'] = {name: schema(value) for name, value in node['properties'].items()}
        out['additionalProperties'] = 'additionalProperties' in node
    if 'items' in node:
        out['items'] = schema(node['items'])
    for bound in ('minimum', 'maximum'):
        if bound in out:
            out[bound] = float(out[bound])
    return out


def rule(param):
    out = {k: param[k] for k in KEEP if k in param}
    if out.get('type') == 'string' and param.get('format') in ('int32', 'int64'):
        out['type'] = 'integer'
    out['mandatory'] = bool(param.get('required'))
    return out


operations = []


def walk(resources):
    for resource in resources.values():
        for method in resource.get('methods', {}).values():
            query = {n: rule(p) for n, p in method.get('parameters', {}).items() if p['location'] == 'query'}
            entry = {
                'method': method['httpMethod'],
                'path': '/' + method['flatPath'],
                'query': query,
                'contentTypes': ['application/json'] if 'request' in method else [],
            }
            if 'request' in method:
                entry['body'] = {'$ref': method['request']['$ref']}
            operations.append(entry)
        walk(resource.get('resources', {}))


walk(doc['resources'])
common = {n: dict(rule(p), mandatory=False) for n, p in doc['parameters'].items() if p['location'] == 'query'}
json.dump(
    {
        'source': 'Analytics Data API v1beta discovery document (github:alchemy-run/gcp-spec@2d5727f3ba8a0d59b62a031e771db53b02e3a5a1 specs/analyticsdata-v1beta.json), revision '
        + doc.get('revision', '?'),
        'commonQuery': common,
        'schemas': {name: schema(value) for name, value in doc['schemas'].items()},
        'operations': sorted(operations, key=lambda o: (o['path'], o['method'])),
    },
    open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'operations.json'), 'w'),
    indent=1,
    sort_keys=True,
)
