"""Networks: generators and discriminators, shared by the families. No losses or training logic here."""
