"""Operator actions: the audit trail (`q2c.ops.audit`) and replay progress (`q2c.ops.replay-progress`)."""
