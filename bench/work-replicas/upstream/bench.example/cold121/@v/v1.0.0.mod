module bench.example/cold121

go 1.21
