"""The api service: Django REST Framework under /api/, one view class per operation."""
