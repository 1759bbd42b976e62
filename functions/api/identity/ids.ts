import { randomUUID } from 'node:crypto';

/** Keystone-style id: a UUID as 32 hex digits, no dashes. */
export const newId = () => randomUUID().replaceAll('-', '');
