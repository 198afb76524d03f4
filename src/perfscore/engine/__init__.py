"""The scoring engine: indicator systems (data, validated), rule families, inputs, scoring, cross-check."""
