//! Seed data (placeholder).
