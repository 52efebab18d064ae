//! SOQL: parser and evaluator (placeholder until the query engine lands).
