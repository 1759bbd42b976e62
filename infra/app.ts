import { App } from 'aws-cdk-lib';
import { NovalessStack } from './stack.js';

const app = new App();
new NovalessStack(app, 'Novaless', {
  description: 'novaless: a Nova-compatible compute cloud with a serverless control plane',
  // Set by the CDK CLI from the current credentials; without them the stack stays environment-agnostic.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
app.synth();
