//! Policy test cases (stub).
