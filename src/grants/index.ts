export * from './secret-grants';
