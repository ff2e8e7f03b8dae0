"""Community dispute mediation (矛盾纠纷调解): disputes, 四方联动 mediators, risk grading and clocks."""
