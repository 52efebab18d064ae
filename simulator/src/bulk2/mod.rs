//! bulk2
