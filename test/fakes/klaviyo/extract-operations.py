"""Derives operations.json (what the fake checks every request against) from Klaviyo's OpenAPI
descriptions (github:klaviyo/openapi, MIT, see /work/shared/vendor-specs/klaviyo/SOURCES.tsv):
per operation its method and path, the query parameters it takes with their bounds, the revision
header, the JSON:API `data.type` of its body and its burst/steady rate limit.
Run: python3 test/fakes/klaviyo/extract-operations.py /work/shared/vendor-specs/klaviyo"""
import json, sys, os, re

spec_dir = sys.argv[1]
operations = []
revision = None
for name in ['klaviyo-profiles.openapi.json', 'klaviyo-events.openapi.json', 'klaviyo-data_privacy.openapi.json', 'klaviyo-lists.openapi.json']:
    spec = json.load(open(os.path.join(spec_dir, name)))
    revision = spec['info']['version']
    schemas = spec.get('components', {}).get('schemas', {})
    def deref(node):
        while isinstance(node, dict) and '$ref' in node:
            node = schemas[node['$ref'].split('/')[-1]]
        return node
    for path, ops in spec['paths'].items():
        for method, op in ops.items():
            if method not in ('get', 'post', 'patch', 'delete'):
                continue
            query = {}
            for p in op.get('parameters', []):
                p = deref(p)
                if p['in'] != 'query':
                    continue
                s = p.get('schema', {})
                query[p['name']] = {k: s[k] for k in ('type', 'minimum', 'maximum', 'enum') if k in s}
            body_type = None
            body = op.get('requestBody', {}).get('content', {})
            for media in body.values():
                data = deref(deref(media['schema']).get('properties', {}).get('data', {}))
                t = deref(data.get('properties', {}).get('type', {}))
                if 'enum' in t:
                    body_type = t['enum'][0]
            limit = op.get('x-klaviyo-ratelimit', {})
            per = lambda v: int(re.match(r'(\d+)/', v).group(1))
            operations.append({
                'method': method.upper(),
                'path': path,
                'query': query,
                'bodyType': body_type,
                'rateLimit': {'burst': per(limit['burst']), 'steady': per(limit['steady'])} if limit else None,
            })
# Read from github:klaviyo/openapi openapi/stable/categories/accounts.json (not in vendor-specs);
# metrics.json was not readable here, so its limit is Klaviyo's documented "M" tier, assumed.
operations.append({'method': 'GET', 'path': '/api/accounts', 'query': {'fields[account]': {'type': 'array'}}, 'bodyType': None, 'rateLimit': {'burst': 1, 'steady': 15}})
operations.append({'method': 'GET', 'path': '/api/metrics', 'query': {'fields[metric]': {'type': 'array'}, 'filter': {'type': 'string'}, 'page[cursor]': {'type': 'string'}}, 'bodyType': None, 'rateLimit': {'burst': 10, 'steady': 150}})
json.dump({'source': 'github:klaviyo/openapi@f0a30ba41254904dc410d84ca497df68f8872276 openapi/stable/categories/{profiles,events,data_privacy,lists}.json (MIT)', 'revision': revision, 'operations': operations}, open(os.path.join(os.path.dirname(__file__), 'operations.json'), 'w'), indent=1, sort_keys=True)
