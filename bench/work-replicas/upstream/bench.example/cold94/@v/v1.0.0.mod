module bench.example/cold94

go 1.21
