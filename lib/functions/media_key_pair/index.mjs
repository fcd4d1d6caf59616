// CloudFormation custom resource: creates the RSA key pair of one media signing-key
// generation. The private key goes straight into the generation's Secrets Manager
// secret; only the public key (PEM) is returned, as the attribute `PublicKey`, for
// the CloudFront public key. Neither key is ever logged.
//
// Create: generate and store. Update: refused (a generation's key pair is immutable;
// rotate by adding the next generation). Delete: nothing (the stack deletes the secret).
import { generateKeyPairSync } from 'node:crypto';

export function generateKeyPair() {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

/** Handles one request; `putSecret(arn, string)` stores the private key. Returns the response fields. */
export async function onEvent(event, putSecret) {
  const props = event.ResourceProperties ?? {};
  const physicalId = `media-key-pair-${props.Generation}`;
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId ?? physicalId, Data: {} };
  if (event.RequestType === 'Update') {
    throw new Error(
      `The key pair of media signing-key generation ${event.OldResourceProperties?.Generation} is immutable; ` +
        'rotate by adding the next generation (mediaKeyGenerations), see README "Media signing keys".',
    );
  }
  if (!props.SecretArn || !props.Generation) throw new Error('SecretArn and Generation are required properties.');
  const { publicKey, privateKey } = generateKeyPair();
  await putSecret(props.SecretArn, privateKey);
  return { PhysicalResourceId: physicalId, Data: { PublicKey: publicKey } };
}

async function putSecretValue(secretArn, value) {
  const { SecretsManagerClient, PutSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  await new SecretsManagerClient({}).send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: value }));
}

async function respond(event, body) {
  const response = await fetch(event.ResponseURL, {
    method: 'PUT',
    headers: { 'content-type': '' },
    body: JSON.stringify({
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
      ...body,
    }),
  });
  if (!response.ok) throw new Error(`CloudFormation response upload failed: ${response.status}`);
}

export async function handler(event) {
  console.log(JSON.stringify({ requestType: event.RequestType, logicalResourceId: event.LogicalResourceId }));
  try {
    const result = await onEvent(event, putSecretValue);
    await respond(event, { Status: 'SUCCESS', ...result });
  } catch (error) {
    console.log(JSON.stringify({ error: String(error?.message ?? error) }));
    await respond(event, {
      Status: 'FAILED',
      Reason: String(error?.message ?? error).slice(0, 500),
      PhysicalResourceId: event.PhysicalResourceId ?? `media-key-pair-${event.ResourceProperties?.Generation}`,
    });
  }
}
