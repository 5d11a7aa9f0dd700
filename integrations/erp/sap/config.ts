import { z } from 'zod';

/** A communication user (Basic) or an SAP BTP / XSUAA OAuth client (client credentials). */
const auth = z.discriminatedUnion('type', [
  z.object({ type: z.literal('basic'), username: z.string().min(1), password: z.string().min(1) }).strict(),
  z
    .object({
      type: z.literal('oauth'),
      tokenUrl: z.string().url(),
      clientId: z.string().min(1),
      clientSecret: z.string().min(1),
    })
    .strict(),
]);

export const sapConfigSchema = z
  .object({
    /** Host of the S/4HANA system or its API Management proxy, e.g. https://my123456-api.s4hana.ondemand.com. */
    baseUrl: z.string().url(),
    /** Path of the Business Partner service. */
    servicePath: z.string().startsWith('/').default('/sap/opu/odata/sap/API_BUSINESS_PARTNER'),
    auth,
    /** Records per `$top` page. */
    pageSize: z.number().int().min(1).max(5000).default(500),
    /** Change sets (one per pushed record) sent in one `$batch` request. */
    batchSize: z.number().int().min(1).max(1000).default(100),
    /** Country written into a new business partner's address, which S/4HANA requires. */
    defaultCountry: z
      .string()
      .regex(/^[A-Z]{2,3}$/)
      .default('US'),
    /**
     * Event Mesh webhook subscription (Basic credentials it sends, and the event source of this
     * system); absent: every delivery is refused.
     */
    webhook: z
      .object({ username: z.string().min(1), password: z.string().min(12), source: z.string().min(1) })
      .strict()
      .optional(),
  })
  .strict();

export type SapConfig = z.infer<typeof sapConfigSchema>;
