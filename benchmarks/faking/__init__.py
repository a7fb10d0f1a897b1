"""The faking family's experiment drivers: the incentive phase diagram, speed, and the text face's scoring."""
