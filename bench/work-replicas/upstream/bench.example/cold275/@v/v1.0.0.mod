module bench.example/cold275

go 1.21
