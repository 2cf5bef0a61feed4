module bench.example/cold15

go 1.21
