module bench.example/cold252

go 1.21
