"""The shopping family: a shopping assistant serving a customer while representing a company whose values or
profit interest conflict with the customer's ("Of Models and Tin Men"), under four disclosure conditions.

Ids: AlignGym/Shopping-v0 (PettingZoo: assistant, customer, optional company), AlignGym/ShoppingAssistant-v0
(numeric face, native vector twin), AlignGym/ShoppingText-v0 (text face for LLM agents). See docs/shopping.md.
"""
