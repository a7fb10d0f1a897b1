"""ProgressGym-style value tracking and human-AI value coevolution: Follow, Predict(k), Coevolve.

Small modules: `values` (the 19 dimensions), `trajectories` (built-in and user trajectories),
`questionnaire` (the item bank), `population` (response model, surveys, order-debiased measurement),
`core` (the batched simulation), `numeric` / `text` (the two faces), and one file per challenge.
"""
