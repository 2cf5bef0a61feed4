module bench.example/cold8

go 1.21
