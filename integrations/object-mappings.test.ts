import { INTEGRATIONS } from '@data-sync/config/integrations';
import { CONNECTORS } from './registry';
import { mappingFor, OBJECT_MAPPINGS } from '@data-sync/pipelines/mappings';

/** Each connector's person object: pulled into contacts, and written back where the connector can push it. */
const PERSON_OBJECT: Readonly<Record<string, string>> = {
  salesforce: 'Contact',
  hubspot: 'contacts',
  pipedrive: 'persons',
  zoho: 'Contacts',
  mailchimp: 'newsletter',
  klaviyo: 'profiles',
  constant_contact: 'contacts',
};

/** Connectors whose person object cannot be written, with why (none today). */
const NOT_WRITABLE: Readonly<Record<string, string>> = {};

describe('object mappings', () => {
  test("every CRM and marketing connector's person object has an inbound mapping and, where writable, an outbound one", () => {
    const people = Object.values(CONNECTORS).filter((m) => m.family === 'crm' || m.family === 'marketing');
    expect(people.map((m) => m.system).sort()).toEqual(Object.keys(PERSON_OBJECT).sort());
    for (const module of people) {
      const object = PERSON_OBJECT[module.system];
      expect(mappingFor(module.system, object, 'inbound')).toMatchObject({
        direction: 'inbound',
        system: module.system,
      });
      if (NOT_WRITABLE[module.system]) expect(mappingFor(module.system, object, 'outbound')).toBeUndefined();
      else
        expect(mappingFor(module.system, object, 'outbound')).toMatchObject({
          direction: 'outbound',
          system: module.system,
        });
    }
  });

  test("the catalog's person objects are pulled, and every catalog push object has an outbound mapping", () => {
    for (const settings of INTEGRATIONS.filter((i) => PERSON_OBJECT[i.name])) {
      expect(settings.objects).toContain(PERSON_OBJECT[settings.name]);
      for (const object of settings.pushObjects) expect(mappingFor(settings.name, object, 'outbound')).toBeDefined();
    }
    expect(INTEGRATIONS.find((i) => i.name === 'mailchimp')!.pushObjects).toEqual(['newsletter']);
  });

  test('every mapping the table names loads, and objects without one are replica-only', () => {
    for (const [system, { inbound, outbound }] of Object.entries(OBJECT_MAPPINGS)) {
      for (const object of Object.keys(inbound)) expect(mappingFor(system, object, 'inbound')).toBeDefined();
      for (const object of Object.keys(outbound)) expect(mappingFor(system, object, 'outbound')).toBeDefined();
    }
    expect(mappingFor('salesforce', 'Opportunity', 'inbound')).toBeUndefined();
    expect(mappingFor('hubspot', 'deals', 'inbound')).toBeUndefined();
  });
});
