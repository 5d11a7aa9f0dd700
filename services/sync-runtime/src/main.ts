import Fastify from 'fastify';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';

const app = Fastify({ logger: true });
app.get('/health', async () => ({ status: 'ok' }));

app.listen({ port, host }).catch((error) => {
  app.log.error(error);
  process.exit(1);
});
