import { ContextError, parseContext } from './context';
import { ENVIRONMENTS } from './environments';
import { N8N_PROCESSES, n8nShape } from './n8n-shape';
import { resolveSettings } from './settings';

describe('n8n shape per environment', () => {
  test('prod runs queue mode with more than one worker and webhook process; dev stays one process', () => {
    const prod = N8N_PROCESSES.prod;
    expect(prod.mode).toBe('queue');
    if (prod.mode !== 'queue') return;
    expect(prod.workers).toBeGreaterThan(1);
    expect(prod.webhookProcessors).toBeGreaterThan(1);
    expect(N8N_PROCESSES.dev).toEqual({ mode: 'regular' });
  });

  test('the editor is restricted in staging and prod, public in dev', () => {
    const access = { cidrs: ['203.0.113.0/24'], members: ['group:ops@example.com'] };
    expect(n8nShape('dev', access).editor).toEqual({ access: 'public' });
    for (const env of ['staging', 'prod'] as const)
      expect(n8nShape(env, access).editor).toEqual({ access: 'allowlist', ...access });
  });

  test('a restricted editor has queue mode, so its webhooks can be served apart from it', () => {
    for (const env of ENVIRONMENTS)
      if (n8nShape(env, { cidrs: [], members: [] }).editor.access === 'allowlist')
        expect(N8N_PROCESSES[env].mode).toBe('queue');
  });
});

describe('n8nEditorAllowlist context', () => {
  const allowlist = (value: unknown) => parseContext({ n8nEditorAllowlist: value }).n8nEditorAllowlist;

  test('absent: nobody from outside (an empty allowlist)', () => {
    expect(parseContext({}).n8nEditorAllowlist).toEqual([]);
    expect(resolveSettings('aws', 'prod', parseContext({})).n8n.editor).toEqual({
      access: 'allowlist',
      cidrs: [],
      members: [],
    });
  });

  test('a comma-separated string or a list of IPv4 CIDRs, deduplicated, reaches every stack', () => {
    expect(allowlist('203.0.113.0/24, 198.51.100.7/32,203.0.113.0/24')).toEqual(['203.0.113.0/24', '198.51.100.7/32']);
    expect(allowlist(['10.0.0.0/8'])).toEqual(['10.0.0.0/8']);
    const context = parseContext({ n8nEditorAllowlist: '198.51.100.7/32' });
    expect(resolveSettings('azure', 'staging', context).n8n.editor).toEqual({
      access: 'allowlist',
      cidrs: ['198.51.100.7/32'],
      members: [],
    });
  });

  test.each([
    ['0.0.0.0/0', /wider than \/8: the editor would be public/],
    ['2.0.0.0/7', /wider than \/8/],
    ['203.0.113.5/24', /host bits set/],
    ['203.0.113.0', /expected IPv4 CIDRs/],
    ['256.1.1.0/24', /expected IPv4 CIDRs/],
    ['10.0.0.0/33', /expected IPv4 CIDRs/],
    ['2001:db8::/32', /expected IPv4 CIDRs/],
  ])('rejects %s with a message naming the key', (value, message) => {
    expect(() => allowlist(value)).toThrow(ContextError);
    expect(() => allowlist(value)).toThrow(/n8nEditorAllowlist/);
    expect(() => allowlist(value)).toThrow(message);
  });
});

describe('n8nEditorMembers context', () => {
  const members = (value: unknown) => parseContext({ n8nEditorMembers: value }).n8nEditorMembers;

  test('absent: nobody but the runtime may invoke the editor', () => {
    expect(parseContext({}).n8nEditorMembers).toEqual([]);
    expect(resolveSettings('gcp', 'prod', parseContext({})).n8n.editor).toMatchObject({ members: [] });
  });

  test('users, groups, service accounts and domains, deduplicated, reach every restricted stack', () => {
    expect(members('group:ops@example.com, user:ana@example.com,group:ops@example.com')).toEqual([
      'group:ops@example.com',
      'user:ana@example.com',
    ]);
    expect(members(['serviceAccount:ci@p.iam.gserviceaccount.com', 'domain:example.com'])).toEqual([
      'serviceAccount:ci@p.iam.gserviceaccount.com',
      'domain:example.com',
    ]);
    const context = parseContext({ n8nEditorMembers: 'group:ops@example.com' });
    expect(resolveSettings('gcp', 'staging', context).n8n.editor).toMatchObject({ members: ['group:ops@example.com'] });
    expect(resolveSettings('gcp', 'dev', context).n8n.editor).toEqual({ access: 'public' });
  });

  test.each([
    ['allUsers', /would make the editor public/],
    ['allAuthenticatedUsers', /would make the editor public/],
    ['ops@example.com', /expected IAM members such as group:ops@example.com/],
    ['team:ops@example.com', /expected IAM members/],
    ['group:ops', /expected IAM members/],
    ['domain:', /expected IAM members/],
  ])('rejects %s with a message naming the key', (value, message) => {
    expect(() => members(value)).toThrow(ContextError);
    expect(() => members(value)).toThrow(/n8nEditorMembers/);
    expect(() => members(value)).toThrow(message);
  });
});
