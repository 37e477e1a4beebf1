"""Records, reports and exports for the therapist."""
