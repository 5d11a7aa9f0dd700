export * from './context';
export * from './environments';
export * from './integrations';
export * from './settings';
export * from './stack-options';
export * from './sizing';
export * from './proxy-hops';
export * from './n8n-shape';
