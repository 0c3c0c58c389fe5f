// Calling an admission webhook: an HTTPS POST of the AdmissionReview to its URL, or to a ready
// endpoint of its Service (verified as <service>.<namespace>.svc, as the API server does), trusting
// its caBundle (else the host's CAs), within its timeoutSeconds (default 10).

import * as https from 'node:https';
import type { Webhook } from '../../proto/resources';
import type { AdmissionResponse, AdmissionReview, WebhookCall } from './webhooks';

/** Where a Service's webhook answers: an address of one of its ready endpoints, and the port there. */
export type ServiceEndpoint = (service: { namespace: string; name: string; port: number }) => Promise<{ host: string; port: number }>;

const DEFAULT_TIMEOUT_SECONDS = 10;
/** An answer larger than this is not an AdmissionReview anyone meant to send. */
const MAX_RESPONSE_BYTES = 3 * 1024 * 1024;

export function webhookCaller(endpointOf: ServiceEndpoint): WebhookCall {
  return async (webhook: Webhook, review: AdmissionReview): Promise<AdmissionResponse> => {
    const timeoutSeconds = webhook.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    const { url, service, caBundle } = webhook.clientConfig;
    let target: { host: string; port: number; path: string; servername: string };
    if (url !== undefined) {
      const u = new URL(url);
      target = { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 443), path: u.pathname, servername: u.hostname };
    } else {
      const svc = service!;
      const endpoint = await endpointOf({ namespace: svc.namespace, name: svc.name, port: svc.port ?? 443 });
      target = { ...endpoint, path: svc.path ?? '/', servername: `${svc.name}.${svc.namespace}.svc` };
    }
    const shown = url ?? `https://${target.servername}:${service?.port ?? 443}${target.path}`;
    const body = JSON.stringify(review);
    const text = await new Promise<string>((resolve, reject) => {
      // timeoutSeconds bounds the whole call (a trickling or silent answer too), not just idleness.
      const deadline = setTimeout(() => req.destroy(new Error(`context deadline exceeded (${timeoutSeconds}s)`)), timeoutSeconds * 1000);
      const fail = (err: Error) => {
        clearTimeout(deadline);
        reject(new Error(`Post "${shown}?timeout=${timeoutSeconds}s": ${err.message}`));
      };
      const req = https.request({
        host: target.host, port: target.port, method: 'POST', path: `${target.path}?timeout=${timeoutSeconds}s`,
        // An IP address is no SNI name: Node refuses to send one.
        ...(/^[\d.]+$|:/.test(target.servername) ? {} : { servername: target.servername }),
        headers: { 'content-type': 'application/json', accept: 'application/json', 'content-length': Buffer.byteLength(body) },
        ...(caBundle ? { ca: Buffer.from(caBundle, 'base64').toString('utf8') } : {}),
      }, (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          data += d;
          if (data.length > MAX_RESPONSE_BYTES) req.destroy(new Error(`the response is larger than ${MAX_RESPONSE_BYTES} bytes`));
        });
        // A connection reset mid-answer ends the call too, never leaving it pending.
        res.on('error', fail);
        res.on('close', () => {
          if (!res.complete) fail(new Error('the connection closed before the answer was complete'));
        });
        res.on('end', () => {
          clearTimeout(deadline);
          if (res.statusCode === 200) resolve(data);
          else reject(new Error(`the server responded with status ${res.statusCode}: ${data.slice(0, 200)}`));
        });
      });
      req.on('error', fail);
      req.end(body);
    });
    let parsed: { apiVersion?: string; kind?: string; response?: AdmissionResponse };
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error('the response is not JSON');
    }
    if (parsed.kind !== 'AdmissionReview' || !parsed.response) throw new Error('the response is not an AdmissionReview with a response');
    return parsed.response;
  };
}
