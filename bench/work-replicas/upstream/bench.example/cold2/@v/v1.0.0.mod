module bench.example/cold2

go 1.21
