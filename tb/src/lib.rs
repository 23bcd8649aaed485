//! Testbenches: drive generated RTL through the Verilator bridge and compare with golden.
