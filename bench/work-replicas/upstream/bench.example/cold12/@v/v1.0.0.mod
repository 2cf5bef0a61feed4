module bench.example/cold12

go 1.21
