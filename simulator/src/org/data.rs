//! Loading a schema and CSV seed data from a directory (placeholder).
