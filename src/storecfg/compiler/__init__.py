"""The compiler: store definition files in, normalized DesiredState (or diagnostics) out."""
