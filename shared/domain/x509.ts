/**
 * @peculiar/x509, loaded after the Reflect metadata API it needs (its tsyringe container fails
 * at load without it). Import X.509 from here, never from the package directly, so the order
 * holds in every entry point and test.
 */
import 'reflect-metadata';

export * from '@peculiar/x509';
