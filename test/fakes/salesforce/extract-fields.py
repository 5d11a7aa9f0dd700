"""Derives standard-fields.json (the fields the fake accepts in queries and upserts) from jsforce's
standard-object typings (github:jsforce/jsforce src/types/standard-schema.ts, MIT, LICENSE-jsforce; see
/work/shared/vendor-specs/salesforce/SOURCES.tsv): the field names of each object the fake serves.
Salesforce publishes no REST description; these typings are generated from its describe metadata.
Run: python3 test/fakes/salesforce/extract-fields.py /work/shared/vendor-specs/salesforce"""
import json, os, re, sys

source = open(os.path.join(sys.argv[1], 'jsforce-types-standard-schema.ts')).read()
objects = {}
for name in ['Account', 'Contact', 'Lead', 'Opportunity']:
    body = re.search(r'type Fields\$' + name + r' = \{(.*?)\n\};', source, re.S).group(1)
    objects[name] = re.findall(r'^\s+(\w+): ', body, re.M)
json.dump(
    {
        'source': 'github:jsforce/jsforce@e744dad915492226c7838a9513697ed75b7ff998 src/types/standard-schema.ts (MIT)',
        'objects': objects,
    },
    open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'standard-fields.json'), 'w'),
    indent=1,
)
