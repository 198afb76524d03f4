"""Deployment: the offline Windows bundle and the doctor that checks what Excel will run."""
